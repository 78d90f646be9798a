"""WhiteNoise, able to run in the async request path.

Under ASGI, Django runs the middleware chain async and adapts each sync-only middleware with a
thread hop (`sync_to_async` in, `async_to_sync` back out). WhiteNoise's middleware is sync
only, so every API request crossed threads two more times than it needs to: in
`bench/visits.py` the hops and their locks were a quarter of a bare upload's server CPU. This
subclass answers a static file as WhiteNoise does and passes every other request on without
leaving the event loop.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, **kwargs):
        super().__init__(get_response, **kwargs)
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        path = request.path_info
        if not self.autorefresh:
            static_file = self.files.get(path)  # an in-memory index built at start-up
        elif path.startswith(self.static_prefix):
            # DEBUG: WhiteNoise looks on disk for each request; not in the event loop.
            static_file = await sync_to_async(self.find_file, thread_sensitive=False)(path)
        else:
            static_file = None
        if static_file is None:
            return await self.get_response(request)
        return await sync_to_async(self.serve, thread_sensitive=False)(static_file, request)

