from django.shortcuts import render

from . import service


def page(request):
    """The board. It makes sure the browser has a session, so the WebSocket handshake carries its
    cookie and the games started here belong to this browser."""
    request.session["tictactoe"] = True
    if not request.session.session_key:
        request.session.save()
    context = {"cells": range(9), "score": service.score(request.session.session_key)}
    return render(request, "tictactoe/tictactoe.html", context)
