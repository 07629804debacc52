"""HEAD answered as GET without the body (RFC 9110 9.3.2), for every route at once.

FastAPI routes declared with `@router.get` answer HEAD with 405; this layer hands the inner app
a GET instead and sends the GET's status and headers (ETag, Content-Length, Content-Encoding,
Vary) with an empty body. Placed outside the caching and compression layers, so a HEAD is
answered from the response cache, gets 304s and shows the length a GET would send.
"""

from api.http.asgi import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        sent_end = False

        async def without_body(message: Message) -> None:
            nonlocal sent_end
            if message["type"] != "http.response.body":
                await send(message)
            elif not sent_end and not message.get("more_body", False):
                sent_end = True
                await send({"type": "http.response.body", "body": b""})

        await self.app({**scope, "method": "GET"}, receive, without_body)
