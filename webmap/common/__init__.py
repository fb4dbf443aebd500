"""What several features share: search parameters, error pages, Jinja filters, vendored
assets, the maps, and the gazetteer, vocabulary and clock."""
