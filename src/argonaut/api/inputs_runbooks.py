"""Input models of the runbook family. Steps are typed loosely (``ProcessInput``) so the process service
reports every problem at once; the rest is bounded to what the columns hold."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from argonaut.api.inputs import ApiInput
from argonaut.api.inputs_projects import ConnectivityPolicyInput, DescriptionText, IdText, NameText

IdList = Annotated[list[IdText], Field(max_length=10_000)]
NameList = Annotated[list[Annotated[str, StringConstraints(max_length=200)]], Field(max_length=10_000)]
FormValueMap = Annotated[dict[str, str], Field(max_length=10_000)]
CommentText = Annotated[str, StringConstraints(max_length=10_000)]


class RetentionInput(ApiInput):
    QuantityToKeep: int = Field(100, ge=0, le=2_147_483_647)
    ShouldKeepForever: bool = False
    Unit: Literal["Items", "Days"] = "Items"


class RunbookInput(ApiInput):
    Name: NameText | None = None
    ProjectId: IdText | None = None
    Description: DescriptionText | None = None
    EnvironmentScope: Literal["All", "Specified", "FromProjectLifecycles"] | None = None
    Environments: Annotated[list[IdText], Field(max_length=1000)] | None = None
    RunRetentionPolicy: RetentionInput | None = None
    ConnectivityPolicy: ConnectivityPolicyInput | None = None
    DefaultGuidedFailureMode: Literal["EnvironmentDefault", "Off", "On"] | None = None
    ForcePackageDownload: bool | None = None
    PublishedRunbookSnapshotId: IdText | None = None
    MultiTenancyMode: IdText | None = None


class SnapshotCreate(ApiInput):
    ProjectId: IdText | None = None
    RunbookId: IdText | None = None
    Name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    Notes: Annotated[str, StringConstraints(max_length=100_000)] | None = None
    # The newer route's switch: any non-blank value publishes (booleans as they read).
    Publish: bool | Annotated[str, StringConstraints(max_length=100)] | None = None


class RunbookRunCreate(ApiInput):
    RunbookId: IdText | None = None
    RunbookSnapshotId: IdText
    EnvironmentId: IdText
    ProjectId: IdText | None = None
    TenantId: IdText | None = None
    SpecificMachineIds: IdList = Field(default_factory=list)
    ExcludedMachineIds: IdList = Field(default_factory=list)
    SkipActions: NameList = Field(default_factory=list)
    FormValues: FormValueMap = Field(default_factory=dict)
    UseGuidedFailure: bool = False
    Comments: CommentText | None = None


class RunbookRunParameters(ApiInput):
    """``POST /runbooks/{id}/run``: which snapshot (the published one by default) and where."""

    UseDefaultSnapshot: bool = True
    RunbookSnapshotNameOrId: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None
    ) = None
    EnvironmentId: IdText | None = None
    EnvironmentIds: Annotated[list[IdText], Field(max_length=1000)] = Field(default_factory=list)
    TenantId: IdText | None = None
    TenantIds: Annotated[list[IdText], Field(max_length=1000)] = Field(default_factory=list)
    SpecificMachineIds: IdList = Field(default_factory=list)
    ExcludedMachineIds: IdList = Field(default_factory=list)
    SkipActions: NameList = Field(default_factory=list)
    FormValues: FormValueMap = Field(default_factory=dict)
    UseGuidedFailure: bool | None = None


class RunbookRunCommand(ApiInput):
    """``POST /runbook-runs/create/v1``, as the described system's CI integrations send it."""

    ProjectName: str = Field(min_length=1, max_length=200)
    RunbookName: str = Field(min_length=1, max_length=200)
    EnvironmentNames: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        min_length=1, max_length=100
    )
    Snapshot: Annotated[str, StringConstraints(max_length=200)] | None = None
    SpecificMachineNames: NameList = Field(default_factory=list)
    ExcludedMachineNames: NameList = Field(default_factory=list)
    SkipStepNames: NameList = Field(default_factory=list)
    Variables: FormValueMap = Field(default_factory=dict)
    UseGuidedFailure: bool | None = None
