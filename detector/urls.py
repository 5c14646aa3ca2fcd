from django.urls import path

from . import views

urlpatterns = [
    path("detect/", views.page, name="detect"),
]
