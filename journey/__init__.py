"""journey: a durable customer-journey engine for post-sales Technical Advisor teams."""

__version__ = "0.1.0"
