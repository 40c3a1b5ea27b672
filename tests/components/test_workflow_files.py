"""WorkflowFiles under Pulumi's mocks: one RepositoryFile per selected file, via our provider."""

from __future__ import annotations

import pulumi
import pytest

from model.github import GitHubConfigError, parse_github_settings
from render.workflows.files import app_files


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every registered resource; RepositoryFile gets a fake commit SHA."""

    def __init__(self) -> None:
        self.resources: dict[str, pulumi.runtime.MockResourceArgs] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources[args.name] = args
        outputs = dict(args.inputs)
        if args.typ == "github:index/repositoryFile:RepositoryFile":
            outputs["commitSha"] = f"sha-of-{args.name}"
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@pytest.fixture
def mocks() -> RecordingMocks:
    recorder = RecordingMocks()
    pulumi.runtime.set_mocks(recorder, project="investment-platform", stack="test", preview=False)
    return recorder


SETTINGS = parse_github_settings(
    {"repository": "acme/investment-platform", "branch": "main", "workflows": ["ci", "dependabot"]}
)


@pulumi.runtime.test
def test_each_selected_file_is_committed_to_the_repository(mocks):
    from components.workflow_files import WorkflowFiles

    component = WorkflowFiles("app-ci", SETTINGS)
    expected = app_files(SETTINGS)

    def check(shas: list[str]) -> None:
        assert shas == ["sha-of-app-ci-ci", "sha-of-app-ci-dependabot"]
        provider = mocks.resources["app-ci-github"]
        assert provider.typ == "pulumi:providers:github"
        assert provider.inputs["owner"] == "acme"
        files = {
            name: args
            for name, args in mocks.resources.items()
            if args.typ == "github:index/repositoryFile:RepositoryFile"
        }
        assert sorted(files) == ["app-ci-ci", "app-ci-dependabot"]
        ci = files["app-ci-ci"].inputs
        assert {key: ci[key] for key in ci if key != "content"} == {
            "repository": "investment-platform",
            "branch": "main",
            "file": ".github/workflows/ci.yml",
            "commitMessage": "ci: update generated CI files (from the infrastructure repository)",
            "overwriteOnCreate": True,
        }
        assert ci["content"] == expected[".github/workflows/ci.yml"]
        assert files["app-ci-dependabot"].inputs["file"] == ".github/dependabot.yml"
        assert files["app-ci-dependabot"].inputs["content"] == expected[".github/dependabot.yml"]

    return pulumi.Output.all(*component.commit_shas.values()).apply(check)


@pulumi.runtime.test
def test_only_the_selected_workflows_are_committed(mocks):
    from components.workflow_files import WorkflowFiles

    settings = parse_github_settings(
        {
            "repository": "acme/app",
            "branch": "ci/generated",
            "workflows": ["ci"],
            "autocreateBranch": True,
        }
    )
    component = WorkflowFiles("only-ci", settings)
    assert list(component.commit_shas) == [".github/workflows/ci.yml"]

    def check(_: list[str]) -> None:
        files = [a for a in mocks.resources.values() if a.typ.endswith(":RepositoryFile")]
        assert [f.inputs["file"] for f in files] == [".github/workflows/ci.yml"]
        assert files[0].inputs["branch"] == "ci/generated"
        assert files[0].inputs["autocreateBranch"] is True

    return pulumi.Output.all(*component.commit_shas.values()).apply(check)


@pytest.mark.parametrize(
    "raw",
    [
        {"repository": "investment-platform"},
        {"repository": "acme/app", "branch": ""},
        {"repository": "acme/app", "workflows": ["release"]},
    ],
)
def test_bad_config_stops_before_any_resource_is_registered(mocks, raw):
    from components.workflow_files import WorkflowFiles

    with pytest.raises(GitHubConfigError):
        WorkflowFiles("app-ci", parse_github_settings(raw))
    assert mocks.resources == {}
