"""Django's ASGI handler for a project whose views are all sync: one thread hop a request.

Django's own ASGI handler runs the middleware chain async, and Django's middleware (every
`MiddlewareMixin`) then runs each `process_request` and `process_response` through
`sync_to_async`: about fifteen thread hops a request before the sync view's own. Under uvicorn
those hops were a fifth of the server's CPU for a visit (bench/visits.py). Every view here is
sync (websockets are channels' consumers, not views), so this handler loads the chain in sync
mode, as WSGI does, and enters it with a single hop into the thread Django runs sync views in.
The request's body is still read, and its response still streamed, in the event loop.
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self):
        # Not ASGIHandler.__init__, which loads the chain async.
        self.load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
