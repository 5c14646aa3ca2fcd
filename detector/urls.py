from django.urls import path

from . import views

urlpatterns = [
    path("detect/", views.page, name="detect"),
    path("api/detect/", views.api_detect, name="detect_api"),
    path("detect/samples/<int:index>.jpg", views.sample_image, name="detect_sample"),
]
