"""The warehouse itself: where it is (connection), the embedded server, roles and grants, and the
versioned migrations that own the operational schemas."""
