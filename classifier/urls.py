from django.urls import path

from . import views

urlpatterns = [
    path("classify/", views.page, name="classify"),
    path("api/classify/", views.api_classify, name="classify_api"),
    path("classify/samples/<int:index>.jpg", views.sample_image, name="classify_sample"),
    path("classify/evaluation.png", views.evaluation_chart, name="classify_evaluation_chart"),
]
