"""SMS: the outbox, message templates, segment counting and the backends that send."""
