"""Analysis: pure GeoDataFrame in, GeoDataFrame (or plain data) out."""
