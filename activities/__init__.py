"""Temporal activities: thin `@activity.defn` wrappers over the store, the outbox sender
and the reports. They never import the workflows, the CLI or the Temporal client side."""
