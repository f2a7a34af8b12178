"""The project's routes with seed 002's family, for tests run before budhitrade/urls.py includes it."""

from django.urls import include, path

from budhitrade.urls import handler400, handler403, handler404, handler500, urlpatterns as project  # noqa: F401

family = [path("", include("compat.kotak_service.urls"))]
included = any(getattr(getattr(p, "urlconf_name", None), "__name__", None) == "compat.kotak_service.urls"
               for p in project)
urlpatterns = project if included else [*family, *project]
