{{/* The release's full name, at most 63 characters. */}}
{{- define "switchboard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if eq .Release.Name .Chart.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels selecting this release's pods. */}}
{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "switchboard.labels" -}}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "switchboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.name -}}
{{- .Values.serviceAccount.name -}}
{{- else -}}
{{- include "switchboard.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* The Lease used by active-passive leader election. */}}
{{- define "switchboard.leaseName" -}}
{{- printf "switchboard-%s" .Values.inferencePool.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The metrics reader's ServiceAccount and its token Secret (scrapers send that token). */}}
{{- define "switchboard.metricsReader" -}}
{{- printf "%s-metrics-reader" (include "switchboard.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Cluster-scoped objects need names unique across namespaces. */}}
{{- define "switchboard.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "switchboard.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
