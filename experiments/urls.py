from django.urls import path

from . import views

urlpatterns = [
    path("experiments/", views.experiment_list, name="experiments"),
    path("experiments/<slug:name>/", views.experiment_detail, name="experiment"),
]
