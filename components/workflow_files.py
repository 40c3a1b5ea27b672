"""`WorkflowFiles`: commits the application's generated CI files to its repository (pulumi-github).

Each file is a `github.RepositoryFile` on the configured branch, through an explicit provider whose
owner comes from the settings (its token from GITHUB_TOKEN, which needs the `workflow` scope to
write under .github/workflows). `overwrite_on_create` adopts a hand-written file of the same path
instead of failing on it. The content is rendered here, so a change in the generator shows in
`pulumi preview` as a diff of the file.
"""

from __future__ import annotations

import pulumi
import pulumi_github as github

from model.github import GitHubSettings
from render.workflows.files import app_files

__all__ = ["GitHubSettings", "WorkflowFiles"]


class WorkflowFiles(pulumi.ComponentResource):
    """The generated CI files of the application repository, committed by Pulumi."""

    commit_shas: dict[str, pulumi.Output[str]]
    """Path in the application repository to the SHA of the commit that last wrote it."""

    def __init__(
        self,
        name: str,
        settings: GitHubSettings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("investment:platform:WorkflowFiles", name, None, opts)
        provider = github.Provider(
            f"{name}-github", owner=settings.owner, opts=pulumi.ResourceOptions(parent=self)
        )
        self.commit_shas = {}
        for path, content in app_files(settings).items():
            role = path.rsplit("/", 1)[-1].removesuffix(".yml")
            repository_file = github.RepositoryFile(
                f"{name}-{role}",
                repository=settings.name,
                branch=settings.branch,
                file=path,
                content=content,
                commit_message=settings.commit_message,
                overwrite_on_create=True,
                autocreate_branch=settings.autocreate_branch or None,
                opts=pulumi.ResourceOptions(parent=self, provider=provider),
            )
            self.commit_shas[path] = repository_file.commit_sha
        self.register_outputs({"commitShas": self.commit_shas})
