FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=budhitrade.settings.production \
    BUDHITRADE_STATE_DIR=/var/lib/budhitrade STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
 && pip install --no-cache-dir --no-deps -r requirements-nodeps.txt
COPY . .
# collectstatic needs settings, not secrets or a database: base settings generate throwaway keys here,
# and the DATABASE_URL is never connected to.
RUN DJANGO_SETTINGS_MODULE=budhitrade.settings.base DATABASE_URL=postgres://build@localhost/unused \
    python manage.py collectstatic --noinput \
 && rm -rf /var/lib/budhitrade
EXPOSE 8000
# The web: WEB_PROCESSES daphne processes (default: one per core) on one socket, as docker-compose.yml runs it.
CMD ["python", "manage.py", "serve", "--web-only", "--host", "0.0.0.0", "--port", "8000"]
