FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=budhitrade.settings.production \
    BUDHITRADE_STATE_DIR=/var/lib/budhitrade STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
 && pip install --no-cache-dir --no-deps -r requirements-nodeps.txt
COPY . .
# collectstatic needs settings, not secrets: base settings generate throwaway keys here.
RUN DJANGO_SETTINGS_MODULE=budhitrade.settings.base python manage.py collectstatic --noinput \
 && rm -rf /var/lib/budhitrade
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "budhitrade.asgi:application"]
