"""The public search: the search page, a service's page, the referral sheet."""
