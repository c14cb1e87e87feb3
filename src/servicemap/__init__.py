"""servicemap: the social-care service directory of a region, crawled, merged, classified and published."""
