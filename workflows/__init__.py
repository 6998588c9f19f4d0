"""Temporal workflows: `AccountJourney`, `RedAccountRemediation`, the two daily sweeps,
their messages, and the worker's assembly. Thin shells over `journey.domain`."""
