"""Stock search on PostgreSQL: versioned migrations, their CLI and their Pulumi dynamic resource."""
