"""Settings from the environment (one setting per fact) and the business rules of config/business.yml."""
