"""Stack file edits keep everything but the values they set."""

from commands.stackfile import set_service_limits

STACK = """\
# Leading comment.
config:
  investment-platform:hostPlan: hetzner-cx33  # the plan
  investment-platform:services:
    # Postgres was measured in March.
    postgres:
      memoryMib: 320  # after the March load test
      image: postgres:15.14-alpine
  investment-platform:backup:
    schedule: "12:30"
    keepDaily: 3
  investment-platform:github:
    workflows: [ci, dependabot]
"""


def test_an_existing_value_changes_in_place_and_nothing_else_does() -> None:
    text = set_service_limits(STACK, "investment-platform", {"postgres": {"memoryMib": 352}})
    assert text == STACK.replace("memoryMib: 320", "memoryMib: 352")


def test_new_keys_and_services_go_at_the_end_of_their_mapping() -> None:
    text = set_service_limits(
        STACK,
        "investment-platform",
        {"postgres": {"cpus": 0.25}, "redis": {"cpus": 0.1, "memoryMib": 64}},
    )
    assert text == STACK.replace(
        "      image: postgres:15.14-alpine\n",
        "      image: postgres:15.14-alpine\n"
        "      cpus: 0.25\n"
        "    redis:\n"
        "      cpus: 0.1\n"
        "      memoryMib: 64\n",
    )


def test_a_file_without_services_gets_the_key_appended() -> None:
    bare = "config:\n  investment-platform:hostPlan: local  # mine\n"
    text = set_service_limits(bare, "investment-platform", {"backend": {"memoryMib": 384}})
    assert text == bare + "  investment-platform:services:\n    backend:\n      memoryMib: 384\n"


def test_no_change_gives_the_file_back_byte_for_byte() -> None:
    assert set_service_limits(STACK, "investment-platform", {}) == STACK
