from django.urls import path

from . import views

urlpatterns = [
    path("classify/", views.page, name="classify"),
]
