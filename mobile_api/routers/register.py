"""The register over the API: households, helpers, pairings, always scoped to the caller."""

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Status
from ninja.pagination import paginate

from mobile_api.auth import user_auth
from mobile_api.schemas.common import AUTH_ERRORS, ErrorOut
from mobile_api.schemas.register import (
    HelperOut,
    HelperPatch,
    HouseholdListOut,
    HouseholdOut,
    HouseholdPatch,
    PairingEndIn,
    PairingIn,
    PairingOut,
)
from register import selectors, services
from register.models import Household
from register.validators import mask_id_number

router = Router(tags=["台账"], auth=user_auth)


def _household_out(household: Household, id_number: str) -> dict:
    return {
        **{
            f: getattr(household, f)
            for f in (
                "id",
                "number",
                "head_name",
                "phone",
                "members",
                "address",
                "home_lat",
                "home_lon",
                "status",
                "registered_on",
                "exited_on",
                "returned_on",
            )
        },
        "id_number": id_number,
        "village": household.village,
    }


@router.get("/households", response=list[HouseholdListOut])
@paginate
def household_list(request: HttpRequest, village: str | None = None, status: str | None = None):
    """Households in my area (a helper: my paired ones). ID numbers are masked in lists."""
    qs = selectors.household_list(user=request.user)
    if village:
        qs = qs.filter(village_id=village)
    if status:
        qs = qs.filter(status=status)
    return qs


@router.get("/households/{household_id}", response={200: HouseholdOut, **AUTH_ERRORS})
def household_detail(request: HttpRequest, household_id: int):
    """One household. The full ID number is shown to office users of its area, and audited."""
    household = get_object_or_404(selectors.household_list(user=request.user), pk=household_id)
    id_number = services.household_id_number_for(
        user=request.user, household=household, request=request
    )
    return _household_out(household, id_number)


@router.patch("/households/{household_id}", response={200: HouseholdOut, **AUTH_ERRORS})
def household_patch(request: HttpRequest, household_id: int, payload: HouseholdPatch):
    household = get_object_or_404(selectors.household_list(user=request.user), pk=household_id)
    household = services.household_update(
        user=request.user, household=household, changes=payload.dict(exclude_unset=True)
    )
    return _household_out(household, mask_id_number(household.id_number))


@router.get("/helpers", response=list[HelperOut])
@paginate
def helper_list(request: HttpRequest):
    return selectors.helper_list(user=request.user)


@router.get("/helpers/{helper_id}", response={200: HelperOut, **AUTH_ERRORS})
def helper_detail(request: HttpRequest, helper_id: int):
    return get_object_or_404(selectors.helper_list(user=request.user), pk=helper_id)


@router.patch("/helpers/{helper_id}", response={200: HelperOut, **AUTH_ERRORS})
def helper_patch(request: HttpRequest, helper_id: int, payload: HelperPatch):
    helper = get_object_or_404(selectors.helper_list(user=request.user), pk=helper_id)
    return services.helper_update(
        user=request.user, helper=helper, changes=payload.dict(exclude_unset=True)
    )


@router.get("/pairings", response=list[PairingOut])
@paginate
def pairing_list(request: HttpRequest, household_id: int | None = None):
    qs = selectors.pairing_list(user=request.user)
    if household_id is not None:
        qs = qs.filter(household_id=household_id)
    return qs


@router.get("/pairings/{pairing_id}", response={200: PairingOut, **AUTH_ERRORS})
def pairing_detail(request: HttpRequest, pairing_id: int):
    return get_object_or_404(selectors.pairing_list(user=request.user), pk=pairing_id)


@router.post("/pairings", response={201: PairingOut, **AUTH_ERRORS, 409: ErrorOut})
def pairing_create(request: HttpRequest, payload: PairingIn):
    """Pair a household with a helper from a date; its current pairing ends that day."""
    household = get_object_or_404(
        selectors.household_list(user=request.user), pk=payload.household_id
    )
    helper = get_object_or_404(selectors.helper_list(user=request.user), pk=payload.helper_id)
    pairing = services.pairing_assign(
        user=request.user, household=household, helper=helper, start_date=payload.start_date
    )
    return Status(201, pairing)


@router.post("/pairings/{pairing_id}/end", response={200: PairingOut, **AUTH_ERRORS, 409: ErrorOut})
def pairing_end(request: HttpRequest, pairing_id: int, payload: PairingEndIn):
    pairing = get_object_or_404(selectors.pairing_list(user=request.user), pk=pairing_id)
    return services.pairing_end(user=request.user, pairing=pairing, end_date=payload.end_date)
