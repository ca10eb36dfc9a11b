"""Optional helpers a host opts into; nothing here runs unless the host calls it."""
