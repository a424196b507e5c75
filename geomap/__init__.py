"""geomap: the business and urban digital map of a Vietnamese ward (Bản đồ số kinh doanh)."""

__version__ = "0.1.0"
