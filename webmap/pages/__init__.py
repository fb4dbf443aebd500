"""The site's information pages: about, privacy, accessibility, data and sources."""
