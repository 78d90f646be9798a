from grievances import workflow
from tests.grievances.conftest import at


def test_full_path(file_case, drive, handler_a):
    filed = file_case(now=at(2026, 9, 30, 9))
    case = drive(filed.grievance, "closed", now=at(2026, 9, 30, 11))
    assert case.state == "closed"
    assert case.events.count() == 6
    assert workflow.allowed_actions(case, handler_a) == []
