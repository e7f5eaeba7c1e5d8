"""Input models of the project family, and :func:`sent`, which hands a service only what the client sent.

Documents the service normalises itself (phases, steps, variables) are typed loosely here (``list[Any]``)
so that every problem in them comes back at once, each naming its step or variable, instead of as
pydantic's positional paths. Bounds on the rest keep values inside what the columns hold.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from argonaut.api.inputs import ApiInput

NameText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
DescriptionText = Annotated[str, StringConstraints(max_length=4000)]
IdText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
VersionNumber = Annotated[int, Field(ge=0, le=2_147_483_647)]


def sent(body: ApiInput) -> dict[str, Any]:
    """The fields the client sent, nested ones included only as far as it sent them."""
    return body.model_dump(include=body.model_fields_set, exclude_unset=True)


class LifecycleInput(ApiInput):
    Name: NameText | None = None
    Description: DescriptionText | None = None
    Phases: list[Any] | None = None
    ReleaseRetentionPolicy: dict[str, Any] | None = None
    TentacleRetentionPolicy: dict[str, Any] | None = None


class ProjectGroupInput(ApiInput):
    Name: NameText | None = None
    Description: DescriptionText | None = None


class ConnectivityPolicyInput(ApiInput):
    SkipMachineBehavior: Literal["None", "SkipUnavailableMachines"] = "None"
    TargetRoles: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, max_length=500
    )
    AllowDeploymentsToNoTargets: bool = False
    ExcludeUnhealthyTargets: bool = False


class VersioningStrategyInput(ApiInput):
    Template: Annotated[str, StringConstraints(max_length=1000)] | None = None
    DonorPackage: dict[str, Any] | None = None
    DonorPackageStepId: IdText | None = None


class ProjectInput(ApiInput):
    Name: NameText | None = None
    Description: DescriptionText | None = None
    Slug: IdText | None = None
    ProjectGroupId: IdText | None = None
    LifecycleId: IdText | None = None
    IsDisabled: bool | None = None
    DefaultGuidedFailureMode: Literal["EnvironmentDefault", "Off", "On"] | None = None
    ProjectConnectivityPolicy: ConnectivityPolicyInput | None = None
    VersioningStrategy: VersioningStrategyInput | None = None
    ReleaseNotesTemplate: Annotated[str, StringConstraints(max_length=100_000)] | None = None
    DeploymentChangesTemplate: Annotated[str, StringConstraints(max_length=100_000)] | None = None
    DefaultToSkipIfAlreadyInstalled: bool | None = None
    TenantedDeploymentMode: IdText | None = None
    IncludedLibraryVariableSetIds: list[IdText] | None = None


class ChannelInput(ApiInput):
    ProjectId: IdText | None = None
    Name: NameText | None = None
    Description: DescriptionText | None = None
    LifecycleId: IdText | None = None
    IsDefault: bool | None = None
    Rules: list[Any] | None = None
    TenantTags: list[IdText] | None = None


class ProcessInput(ApiInput):
    Version: VersionNumber | None = None
    Steps: list[Any] | None = None


class VariableSetInput(ApiInput):
    Version: VersionNumber | None = None
    Variables: list[Any] | None = None
