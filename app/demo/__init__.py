"""Demo and generated data, kept apart from the domains: no production module imports it.

- `loader`: the small demo data set of `make run`, written through the services, one
  module per domain (`centres`, `users`, `holders`, `enterprises`, `loans`, `coaching`,
  `followups`).
"""
