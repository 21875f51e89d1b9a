"""Online booking: slots, appointments, quotas, broker rules, and check-in into the queue."""
