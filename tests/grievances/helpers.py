"""A resident filing a complaint over the public API, for every suite that needs one."""


def file_grievance(api_client, regions, ip="127.0.0.1", **extra):
    """POST /grievances as an anonymous resident from `ip`; `extra` overrides the fields."""
    body = {
        "kind": "complaint",
        "category": "funds",
        "region": regions.village_a1.code,
        "text": "低保金被村干部截留,请调查。",
        "name": "王建国",
        "phone": "13911112222",
        **extra,
    }
    return api_client.anonymous().post("/grievances", body, REMOTE_ADDR=ip)
