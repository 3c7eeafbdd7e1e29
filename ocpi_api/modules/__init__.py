"""One file per OCPI module: its serializers (plain functions) and its views (``urlpatterns``)."""
