from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    """The network catalogue: the read side (pages, REST API, search, facets, statistics,
    exports) over the records that the registry app keeps. It reads registry/, never the other
    way round."""

    name = "catalogue"
    verbose_name = "Network catalogue"
