"""Live case updates for staff pages: `ws/grievances/` (session or `?token=`).

A department handler joins its department's group; an office user or a supervisor joins the
group of their region, to which every case in that area is broadcast (`workflow.broadcast`
sends to the case's region and each ancestor). Events carry no identity and no text.
"""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.roles import Role, reads_area_grievances
from grievances.workflow import area_group, department_group


def groups_for(user) -> list[str]:
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    groups = []
    if user.role == Role.DEPARTMENT and user.unit_id is not None:
        groups.append(department_group(user.unit_id))
    if reads_area_grievances(user) and user.region_id:
        groups.append(area_group(user.region_id))
    return groups


class GrievanceConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.groups_joined = groups_for(self.scope.get("user"))
        if not self.groups_joined:
            await self.close(code=4403)
            return
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # Read-only stream: the client only listens.
        return None

    async def grievance_changed(self, event):
        await self.send_json({"type": "grievance.changed", "grievance": event["grievance"]})
