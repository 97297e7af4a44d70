// STUN: see ../shared/ARCHITECTURE.md. Filled in by its issue.
