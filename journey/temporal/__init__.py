"""The client side of Temporal: connecting (envconfig), enrolling and sending events,
rolling out playbooks, the sweeps' schedules, simulations, and the embedded dev server."""
