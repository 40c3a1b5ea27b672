"""The investment-research platform as typed Pulumi components, plus the offline tools around them."""
