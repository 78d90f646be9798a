"""Live coverage: `ws/coverage/<code>/` streams the visits accepted in that area.

Staff who read an area may follow it or any region under it; the group is the area's code
prefix, to which `visits.services` sends each accepted visit after commit.
"""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.roles import reads_area
from accounts.scoping import code_in_area
from common.live import group_name
from regions.models import prefix_of_code


def _valid_code(code: str) -> bool:
    return len(code) == 12 and code.isdigit()


class CoverageConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        code = self.scope["url_route"]["kwargs"].get("code", "")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        # Only staff who read areas, and only inside their own area.
        if not (reads_area(user) or user.is_superuser) or not _valid_code(code):
            await self.close(code=4403)
            return
        if not code_in_area(user, code):
            await self.close(code=4403)
            return
        self.group = group_name("coverage", prefix_of_code(code))
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def coverage_visit(self, event):
        await self.send_json({"type": "visit", "visit": event["visit"]})

    async def coverage_village_visit(self, event):
        await self.send_json({"type": "village_visit", "visit": event["visit"]})
