"""The scheduler: counter and centre balancing, booking capacity by demand, recommendations, and
the simulator that runs the real engine on a virtual clock."""
