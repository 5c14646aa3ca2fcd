from django.urls import path

from . import views

urlpatterns = [
    path("tictactoe/", views.page, name="tictactoe"),
]
