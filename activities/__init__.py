"""Side effects of journeys: the store, deliveries and metrics, called from workflows."""
