"""The investment-research platform as typed Pulumi components, and the offline tools."""
