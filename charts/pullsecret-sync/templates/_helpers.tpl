{{/*
Names and labels shared by every template. Names follow Helm's conventions (63-character DNS labels);
selector labels are a stable subset of the common labels, so an upgrade never changes a selector.
*/}}

{{- define "pullsecret-sync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pullsecret-sync.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "pullsecret-sync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pullsecret-sync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pullsecret-sync.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "pullsecret-sync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: pullsecret-sync
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "pullsecret-sync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pullsecret-sync.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest is given (a digest pins the exact image). */}}
{{- define "pullsecret-sync.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The builder API's serving certificate: which Secret every replica mounts, and whether the chart made
its CA (then ca.crt is in the Secret and the daemon serves it at /v1/ca.crt).
*/}}
{{- define "pullsecret-sync.builderTlsSecret" -}}
{{- if .Values.builder.tls.secretName }}
{{- .Values.builder.tls.secretName }}
{{- else }}
{{- printf "%s-builder-tls" (include "pullsecret-sync.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "pullsecret-sync.builderTlsHasCa" -}}
{{- if .Values.builder.tls.secretName }}{{- else if and .Values.builder.tls.certManager.enabled .Values.builder.tls.certManager.issuerRef }}{{- else }}true{{- end }}
{{- end }}

{{- define "pullsecret-sync.builderDnsNames" -}}
{{- $svc := include "pullsecret-sync.fullname" . -}}
- {{ $svc }}
- {{ $svc }}.{{ .Release.Namespace }}
- {{ $svc }}.{{ .Release.Namespace }}.svc
- {{ $svc }}.{{ .Release.Namespace }}.svc.cluster.local
{{- end }}

{{/* The MutatingWebhookConfiguration the daemon keeps: <service>.<namespace> (cluster-scoped, so unique per release). */}}
{{- define "pullsecret-sync.webhookConfigurationName" -}}
{{- printf "%s.%s" (include "pullsecret-sync.fullname" .) .Release.Namespace }}
{{- end }}

{{/* Whether the webhook may be the admission engine: --admission-engine auto (chosen by discovery) or webhook. */}}
{{- define "pullsecret-sync.webhookEngine" -}}
{{- if has .Values.config.admissionEngine (list "auto" "webhook") }}true{{- end }}
{{- end }}
