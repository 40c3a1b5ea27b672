"""GitHub Actions workflows and Dependabot config as typed models, rendered to YAML.

`models` is the schema subset we use, `render` turns a model into stable YAML, `app_ci` and
`infra_ci` build the application's and this repository's workflows, `dependabot` and `renovate` the
update configs, `files` maps every generated file to its path, and `repository_files` commits the
application's files with pulumi-github.
"""
