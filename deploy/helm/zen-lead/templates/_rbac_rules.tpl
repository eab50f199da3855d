{{/*
The rules zen-lead needs on the workloads it serves, each verb with its reason. RBAC cannot narrow by label or
name pattern; the ValidatingAdmissionPolicy of admission-policy.yaml limits the writes to zen-lead's own objects.
*/}}
{{- define "zen-lead.workloadRules" -}}
# get/list/watch: the informer over source and leader Services. create: the <svc>-leader Service.
# update: the leader Service is written as a PUT of the merged object (no patch). delete: the leader Service
# goes when its source opts out, is renamed or is deleted.
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
# blockOwnerDeletion on the owner references needs this where OwnerReferencesPermissionEnforcement is on.
- apiGroups: [""]
  resources: ["services/finalizers"]
  verbs: ["update"]
{{- if .Values.rbac.serviceStatus }}
# A cloud backend's frontend address, merge-patched into the source Service's status (rbac.serviceStatus).
- apiGroups: [""]
  resources: ["services/status"]
  verbs: ["patch"]
{{- end }}
# Candidates and their readiness; pods are never written.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
# The leader EndpointSlice, with the same reasons as the leader Service.
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
# Events on Services: create, then patch the count of a repeated one.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
