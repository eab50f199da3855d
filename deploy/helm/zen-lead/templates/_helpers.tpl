{{/* Names, labels and shared values of the zen-lead chart. */}}
{{- define "zen-lead.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "zen-lead.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "zen-lead.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zen-lead.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Every object's labels. managed-by is Helm's: zen-lead's own objects carry managed-by=zen-lead. */}}
{{- define "zen-lead.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "zen-lead.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "zen-lead.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "zen-lead.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "zen-lead.configMapName" -}}
{{- printf "%s-config" (include "zen-lead.fullname" .) -}}
{{- end -}}

{{- define "zen-lead.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* config.yaml: values.config with values.controller (null entries left out) as its controller: section. */}}
{{- define "zen-lead.configYaml" -}}
{{- $config := deepCopy (default dict .Values.config) -}}
{{- $controller := dict -}}
{{- range $k, $v := .Values.controller -}}
{{- if not (kindIs "invalid" $v) -}}{{- $_ := set $controller $k $v -}}{{- end -}}
{{- end -}}
{{- if $controller -}}{{- $_ := set $config "controller" $controller -}}{{- end -}}
{{- toYaml $config -}}
{{- end -}}
