"""Online booking: slots, appointments, OTP, quotas and check-in into the queue."""
